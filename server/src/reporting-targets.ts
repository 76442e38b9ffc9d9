/**
 * The reporting URL and secret live on the application (applications feature) and are used by
 * the delivery worker (uplinks feature), which keeps what it read for a moment. A feature that
 * changes them awaits `changed` before it answers, so that this process delivers with the new
 * ones from then on; other processes sharing PostgreSQL are told by the database (migration
 * 0010).
 */
export class ReportingTargets {
  private readonly listeners: ((applicationId: string) => Promise<void>)[] = [];

  /** Called with each application whose reporting URL or secret changed, once it is committed. */
  onChanged(listener: (applicationId: string) => Promise<void>): void {
    this.listeners.push(listener);
  }

  async changed(applicationId: string): Promise<void> {
    await Promise.all(this.listeners.map((listener) => listener(applicationId)));
  }
}
