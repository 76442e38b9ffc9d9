/** The ids an application gets on a network by default: readable, valid there, and unique. */
import { describe, expect, it } from 'vitest';
import { defaultRemoteId } from '../src/applications/links.service.js';

const ID = '3f2a9c1d-5b6e-4c7d-8e9f-0a1b2c3d4e5f';

describe('defaultRemoteId', () => {
  it('is the name as a slug and 8 characters of the local id', () => {
    expect(defaultRemoteId('Weather Stations', ID)).toBe('weather-stations-3f2a9c1d');
  });

  it('keeps accented letters without their accents', () => {
    expect(defaultRemoteId('Ünïcödé Café', ID)).toBe('unicode-cafe-3f2a9c1d');
  });

  it('stays within 36 characters, and falls back to app- for a name without letters', () => {
    expect(defaultRemoteId('x'.repeat(200), ID)).toHaveLength(36);
    expect(defaultRemoteId('!!!', ID)).toBe('app-3f2a9c1d');
  });
});
