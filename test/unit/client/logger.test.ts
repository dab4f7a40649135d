import { describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../../packages/steadfast/src/client/logger.js';

function sink() {
  return { debug: vi.fn(), log: vi.fn(), warn: vi.fn(), error: vi.fn() };
}

describe('createLogger', () => {
  it('prints the contract lines exactly at the default level', () => {
    const output = sink();
    createLogger('info', output).info('Service initialized');
    expect(output.log).toHaveBeenCalledWith('[AUTO-SAVE] Service initialized');
  });

  it('drops messages below the level and prints nothing when silent', () => {
    const output = sink();
    const logger = createLogger('warn', output);
    logger.debug('d');
    logger.info('i');
    logger.warn('w', { detail: 1 });
    expect(output.debug).not.toHaveBeenCalled();
    expect(output.log).not.toHaveBeenCalled();
    expect(output.warn).toHaveBeenCalledWith('[AUTO-SAVE] w', { detail: 1 });
    const quiet = sink();
    createLogger('silent', quiet).error('e');
    expect(quiet.error).not.toHaveBeenCalled();
  });
});
