import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureNginx } from './ensure-nginx.mjs';
import { renderNginxConfig, TEMPLATE } from './nginx.mjs';

const render: (template: string, values: Record<string, string | number>) => string = renderNginxConfig;

describe('renderNginxConfig(template, values)', () => {
  it('fills every placeholder', () => {
    expect(render('listen {{HOST}}:{{PORT}};\nalias "{{ROOT}}/";', { HOST: '127.0.0.1', PORT: 8080, ROOT: '/srv/my media' })).toBe(
      'listen 127.0.0.1:8080;\nalias "/srv/my media/";',
    );
  });

  it('throws for a placeholder without a value', () => {
    expect(() => render('pid "{{TEMP_DIR}}/nginx.pid";', {})).toThrow('no value for {{TEMP_DIR}}');
  });

  it.each([
    ['a double quote', '/srv/a"b'],
    ['a $ nginx would read as a variable', '/srv/$host'],
    ['a backslash', '/srv/a\\b'],
    ['a line break', '/srv/a\nb'],
  ])('refuses a value with %s', (_name, value) => {
    expect(() => render('alias "{{ROOT}}/";', { ROOT: value })).toThrow('contains a character nginx.conf cannot take');
  });
});

describe('nginx/nginx.conf.template', () => {
  let tmp: string;
  let config: string;
  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'nginx-template-'));
    await mkdir(path.join(tmp, 'media'));
    config = render(await readFile(TEMPLATE, 'utf8'), {
      TEMP_DIR: tmp,
      USER_DIRECTIVE: '',
      APP_ADDRESS: '127.0.0.1:3000',
      PROXY_HOST: '127.0.0.1',
      PROXY_PORT: 8080,
      MEDIA_ROOT: path.join(tmp, 'media'),
    });
    await writeFile(path.join(tmp, 'nginx.conf'), config);
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('keeps every path nginx writes under the temporary folder, and listens on loopback only', () => {
    for (const directive of ['pid', 'error_log', 'client_body_temp_path', 'proxy_temp_path', 'fastcgi_temp_path', 'uwsgi_temp_path', 'scgi_temp_path']) {
      expect(config).toMatch(new RegExp(`^\\s*${directive} "${tmp}/`, 'm'));
    }
    expect(config).toMatch(/^\s*daemon off;/m);
    expect([...config.matchAll(/^\s*listen (\S+);/gm)].map((match) => match[1])).toEqual(['127.0.0.1:8080']);
    expect(config).toMatch(/location \/_protected\/ \{\s*internal;\s*alias "[^"]+\/media\/";/);
  });

  // Never skipped: nginx is installed here as the offload e2e installs it (apt-get as root), and
  // a machine where it cannot be had fails with the line that says how to get it.
  it('passes nginx -t', () => {
    const nginx = ensureNginx() as { ok: boolean; path?: string; message?: string };
    if (!nginx.ok || !nginx.path) throw new Error(nginx.message ?? 'nginx is not available');
    const check = spawnSync(
      nginx.path,
      ['-t', '-q', '-p', `${tmp}/`, '-e', path.join(tmp, 'error.log'), '-c', path.join(tmp, 'nginx.conf')],
      { encoding: 'utf8' },
    );
    expect(check.stderr).toBe('');
    expect(check.status).toBe(0);
  }, 300_000);
});
