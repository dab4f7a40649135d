/**
 * `steadfast/client`'s public types, as an app with its own bundler imports them. Here rather than
 * beside the server entries' pins (test/package/public-api.types.test.ts) because the client needs
 * the DOM types: test/tsconfig.browser.json, which `npm run typecheck` runs, covers this folder.
 * At run time expectTypeOf does nothing, so each test also touches the runtime export it pins.
 */
import {
  type AutoSaveOptions,
  type AutoSaveService,
  createAutoSaveService,
  type JsonValue,
  type LogLevel,
  type SaveState,
  type SaveStatus,
  STATUS_EVENT,
  type StateListener,
  type SyncOutcome,
  type SyncResult,
} from 'steadfast/client';
import type { SyncChange } from 'steadfast/protocol';
import { describe, expect, expectTypeOf, it } from 'vitest';

describe('steadfast/client', () => {
  it('createAutoSaveService takes optional AutoSaveOptions and returns an AutoSaveService', () => {
    expect(typeof createAutoSaveService).toBe('function');
    expectTypeOf(createAutoSaveService).parameters.toEqualTypeOf<[options?: AutoSaveOptions]>();
    expectTypeOf(createAutoSaveService).returns.toEqualTypeOf<AutoSaveService>();
  });

  it('AutoSaveOptions: every option optional, the page’s document, storage and fetch replaceable', () => {
    expectTypeOf<AutoSaveOptions>().toEqualTypeOf<{
      readonly debounceDelay?: number;
      readonly syncInterval?: number;
      readonly endpoint?: string;
      readonly draftsEndpoint?: string;
      readonly baseEndpoint?: string;
      readonly logLevel?: LogLevel;
      readonly user?: string | null;
      readonly draftTtl?: number;
      readonly restoreFromServer?: boolean;
      readonly document?: Document;
      readonly storage?: Storage | null;
      readonly fetch?: typeof fetch;
      readonly now?: () => number;
      readonly random?: () => number;
      // LogSink, not exported by steadfast/client: the part of `console` the service writes to.
      readonly console?: {
        debug(...parts: unknown[]): void;
        log(...parts: unknown[]): void;
        warn(...parts: unknown[]): void;
        error(...parts: unknown[]): void;
      };
    }>();
    expectTypeOf<LogLevel>().toEqualTypeOf<'debug' | 'info' | 'warn' | 'error' | 'silent'>();
    expectTypeOf<{ logLevel: 'verbose' }>().not.toExtend<AutoSaveOptions>();
    expectTypeOf<Console>().toExtend<NonNullable<AutoSaveOptions['console']>>();
  });

  it('AutoSaveService: start and stop, UI state and its subscription, drafts, syncing, sign-out and the status', () => {
    expectTypeOf<keyof AutoSaveService>().toEqualTypeOf<
      | 'start'
      | 'stop'
      | 'saveState'
      | 'getState'
      | 'subscribe'
      | 'clear'
      | 'saveAllPending'
      | 'syncWithBackend'
      | 'signOut'
      | 'status'
      | 'parkedChanges'
    >();
    expectTypeOf<AutoSaveService['start']>().toEqualTypeOf<() => void>();
    expectTypeOf<AutoSaveService['stop']>().toEqualTypeOf<() => void>();
    expectTypeOf<AutoSaveService['saveState']>().toEqualTypeOf<(key: string, value: JsonValue) => void>();
    expectTypeOf<AutoSaveService['getState']>().toEqualTypeOf<
      <T extends JsonValue | null>(key: string, fallback: T) => JsonValue | T
    >();
    expectTypeOf<AutoSaveService['subscribe']>().toEqualTypeOf<
      (key: string, listener: StateListener) => () => void
    >();
    expectTypeOf<StateListener>().toEqualTypeOf<(value: JsonValue | null) => void>();
    expectTypeOf<AutoSaveService['clear']>().toEqualTypeOf<(formKey: string) => void>();
    expectTypeOf<AutoSaveService['saveAllPending']>().toEqualTypeOf<() => Promise<SyncOutcome>>();
    expectTypeOf<AutoSaveService['syncWithBackend']>().toEqualTypeOf<() => Promise<SyncOutcome>>();
    expectTypeOf<AutoSaveService['signOut']>().toEqualTypeOf<() => void>();
    expectTypeOf<AutoSaveService['status']>().toEqualTypeOf<SaveStatus>();
    // The element type (ParkedChange) is not exported by steadfast/client; its shape is the API.
    expectTypeOf<ReturnType<AutoSaveService['parkedChanges']>>().toEqualTypeOf<
      { readonly change: SyncChange; readonly reason: string }[]
    >();
    expectTypeOf<{ open: boolean; widths: number[] }>().toExtend<JsonValue>();
    expectTypeOf<null>().not.toExtend<JsonValue>();
  });

  it('SyncOutcome and the save status', () => {
    expectTypeOf<SyncOutcome>().toEqualTypeOf<{ readonly result: SyncResult; readonly synced: number }>();
    expectTypeOf<SyncResult>().toEqualTypeOf<
      | 'synced'
      | 'nothing-to-sync'
      | 'local-only'
      | 'offline'
      | 'retrying'
      | 'unauthorized'
      | 'busy'
      | 'stopped'
    >();
    expectTypeOf<SaveStatus>().toEqualTypeOf<{ readonly state: SaveState; readonly message: string }>();
    expectTypeOf<SaveState>().toEqualTypeOf<'idle' | 'saving' | 'local' | 'saved' | 'offline' | 'error'>();
    expectTypeOf<typeof STATUS_EVENT>().toEqualTypeOf<'autosave:status'>();
    expect(STATUS_EVENT).toBe('autosave:status');
  });
});
