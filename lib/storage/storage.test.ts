import { describe, expect, it } from 'vitest';
import { errorResponse } from '../http/http-error';
import { HttpError, NotFoundError } from '../errors';

describe('NotFoundError', () => {
  it('is an HttpError with status 404, so it answers 404 wherever it reaches a response', async () => {
    const error = new NotFoundError('reports/2026.csv');
    expect(error).toBeInstanceOf(HttpError);
    expect(error.status).toBe(404);
    expect(error.expose).toBe(true);
    const response = errorResponse(error);
    expect(response.status).toBe(404);
    expect(await response.text()).toBe('Not Found\n');
  });

  it('keeps the file name for the caller but never puts it in the message', () => {
    const error = new NotFoundError('secret/plan.txt');
    expect(error.fileName).toBe('secret/plan.txt');
    expect(error.name).toBe('NotFoundError');
    expect(error.message).not.toContain('plan');
  });

  it('can be made without a name', () => {
    expect(new NotFoundError().fileName).toBeUndefined();
  });
});
