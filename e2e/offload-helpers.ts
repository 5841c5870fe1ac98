import { suitePort } from './ports';

/** nginx in front of the e2e demo server (scripts/nginx.mjs, started by playwright.config.ts): E2E_NGINX_PORT, else a free port. */
export const nginxPort = suitePort('E2E_NGINX_PORT');
export const nginxBaseURL = `http://127.0.0.1:${nginxPort}`;
