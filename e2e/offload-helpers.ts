/** nginx in front of the e2e demo server (scripts/nginx.mjs, started by playwright.config.ts). */
export const nginxPort = 3180;
export const nginxBaseURL = `http://127.0.0.1:${nginxPort}`;
