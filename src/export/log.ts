// What the export library tells its caller while it works: one line per event, warnings with a code,
// and progress. The CLI's Reporter is one; a library user passes its own.

/** ExportLog receives the export's progress and messages (the CLI prints them on stderr). */
export interface ExportLog {
  info(message: string): void;
  warn(code: string, message: string): void;
  progress(label: string, done: number, total: number, unit?: 'bytes' | 'items'): void;
}
