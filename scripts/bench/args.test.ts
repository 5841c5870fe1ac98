import { describe, expect, it } from 'vitest';
import { parseBenchArgs } from './args';
import { WORKLOADS } from './workloads/index';

const ids = WORKLOADS.map((w) => w.id);
const parse = (...argv: string[]) => parseBenchArgs(argv, ids);

describe('parseBenchArgs', () => {
  it('runs every workload of the list, full size, when given nothing', () => {
    const args = parse();
    expect(args.smoke).toBe(false);
    expect([...args.only]).toEqual(ids);
    expect(args.rounds).toBeUndefined();
    expect(args.nodeFlags).toEqual([]);
  });

  it('takes --name value and --name=value alike, and --node-flag more than once', () => {
    const args = parse('--smoke', '--rounds', '2', '--only=small,head', '--node-flag=--trace-gc', '--node-flag=--max-semi-space-size=64', '--contenders', 'path,send');
    expect(args).toMatchObject({ smoke: true, rounds: 2, nodeFlags: ['--trace-gc', '--max-semi-space-size=64'] });
    expect([...args.only]).toEqual(['small', 'head']);
    expect([...args.contenders!]).toEqual(['path', 'send']);
  });

  it.each([
    [['--fast'], /Unknown option '--fast'/],
    [['--only', 'big,huge'], /unknown workload huge/],
    [['--load', 'ab'], /--load wrk or --load autocannon, not ab/],
    [['--rounds', '0'], /--rounds takes a whole number/],
    [['--rounds', 'x'], /--rounds takes a whole number/],
    [['extra'], /positional/],
  ])('refuses %j with a message saying why', (argv, message) => {
    expect(() => parse(...argv)).toThrow(message);
  });
});

describe('the list of workloads', () => {
  it('names each workload once, so that --only picks exactly one', () => {
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(['big', 'medium', 'small', 'range', 'head', '304', 'export', 'zip', 'zip-resume', 's3', 'slow', 'slow-limited', 'rate', 'precompressed']);
  });
});
