// The portal's CSV import with files as people write them: a quote inside a value, a quoted
// value closed too early, one never closed, in a file large enough to go in two parts (every
// good row before the unclosed quote is imported; each unreadable row is reported with its
// line); a file in a spreadsheet's code page; a file with a header and no rows.
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { apiSignIn, signInAsAdmin, startStack, type Stack } from '../harness/index.js';

let stack: Stack;
let page: Page;

beforeAll(async () => {
  stack = await startStack();
  page = await stack.newPage();
  await signInAsAdmin(page, stack.server);
});
afterAll(async () => {
  await stack?.stop();
});

test('a stray quote costs its row, not the rows after it', async () => {
  const session = await apiSignIn(stack.server);
  const created = await fetch(`${stack.server.url}/api/applications`, {
    method: 'POST',
    headers: { authorization: `Bearer ${session.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'Tanks' }),
  });
  const app = (await created.json()) as { id: string };

  // Line 1 is the header, lines 2–701 are devices: the portal sends rows 1–500 and 501–700.
  const row = (line: number, name = `tank ${line}`) =>
    `${name},70B3D57ED004${String(line).padStart(4, '0')},70B3D57ED0000000,00112233445566778899AABBCCDDEEFF`;
  const lines = ['name,DevEUI,AppEUI,AppKey'];
  for (let line = 2; line <= 701; line++) {
    if (line === 3) lines.push(row(line, 'Tank 5" sensor'));
    else if (line === 10) lines.push(row(line, '"closed"early'));
    else if (line === 650) lines.push(row(line, '"never closed'));
    else lines.push(row(line));
  }
  await page.goto(`/applications/${app.id}`);
  await page.getByLabel('CSV file').setInputFiles({
    name: 'tanks.csv',
    mimeType: 'text/csv',
    buffer: Buffer.from(lines.join('\r\n') + '\r\n'),
  });
  // Lines 650–701 are one unclosed value: 649 records read, 647 of them devices.
  await page.getByText('647 of 649 devices imported; 2 rows could not be imported:').waitFor();
  const errors = page.getByRole('list', { name: 'Rows not imported' }).getByRole('listitem');
  expect(await errors.allTextContents()).toEqual([
    'Line 10: has text after the closing quote of a quoted value (write a quote inside one as "")',
    'Line 650: opens a quoted value that is never closed: this line and every line after it could not be read',
  ]);
  await page.getByLabel('Search devices').fill('Tank 5');
  await page.getByRole('link', { name: 'Tank 5" sensor' }).waitFor();

  // A spreadsheet's CSV in the Western European code page keeps its accents, and says so.
  await page.getByLabel('CSV file').setInputFiles({
    name: 'capteurs.csv',
    mimeType: 'text/csv',
    buffer: Buffer.from(
      'name,DevEUI,AppEUI,AppKey\nCapteur \u00e9t\u00e9,70B3D57ED0050002,70B3D57ED0000000,00112233445566778899AABBCCDDEEFF\n',
      'latin1',
    ),
  });
  await page.getByText('1 of 1 devices imported.').waitFor();
  await page.getByText(/^The file is not UTF-8: it was read as Windows-1252/).waitFor();
  await page.getByLabel('Search devices').fill('Capteur');
  await page.getByRole('link', { name: 'Capteur \u00e9t\u00e9' }).waitFor();

  // A header and nothing else has no rows, whatever ends it.
  for (const text of ['name,DevEUI\n', 'name,DevEUI', 'name,DevEUI\n\n\n']) {
    await page.getByLabel('CSV file').setInputFiles({
      name: 'empty.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(text),
    });
    await page.getByText('The file has no device rows.').waitFor();
    await page.waitForLoadState('networkidle');
    expect(await page.getByText(/devices imported/).count(), JSON.stringify(text)).toBe(0);
  }

  // A file the server cannot use at all says so in plain words.
  await page.getByLabel('CSV file').setInputFiles({
    name: 'pipes.csv',
    mimeType: 'text/csv',
    buffer: Buffer.from('name|DevEUI\nx|70B3D57ED0050001\n'),
  });
  await page
    .getByText(
      'The import stopped: the file has no name column (the first row names the columns, separated by commas, semicolons or tabs).',
    )
    .waitFor();
});
