import type { Metadata, Viewport } from 'next';
import type { ReactNode } from 'react';
import './globals.css';

export const metadata: Metadata = {
  title: 'next-downloadview demo',
  description: 'File downloads in the Next.js App Router, correct to the letter of HTTP.',
};

export const viewport: Viewport = {
  width: 'device-width',
  initialScale: 1,
  themeColor: [
    { media: '(prefers-color-scheme: light)', color: '#f6f7f9' },
    { media: '(prefers-color-scheme: dark)', color: '#14161a' },
  ],
};

const SECTIONS = [
  ['files', 'Files'],
  ['exports', 'Exports'],
  ['media', 'Media'],
  ['remote', 'Remote'],
  ['signed', 'Signed links'],
] as const;

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        <a className="skip-link" href="#main">
          Skip to content
        </a>
        <header className="site-header">
          <div className="site-header-inner">
            <a className="brand" href="/">
              <span aria-hidden="true" className="brand-mark">
                ↓
              </span>
              downloadview
            </a>
            <nav aria-label="Sections">
              <ul>
                {SECTIONS.map(([id, label]) => (
                  <li key={id}>
                    <a href={`#${id}`}>{label}</a>
                  </li>
                ))}
              </ul>
            </nav>
          </div>
        </header>
        <main id="main" tabIndex={-1}>
          {children}
        </main>
      </body>
    </html>
  );
}
