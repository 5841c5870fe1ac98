import type { ReactNode } from 'react';

/** One part of the page: a heading, the factory it shows, what it does, then the content. */
export function Section({
  id,
  title,
  factory,
  intro,
  children,
}: {
  id: string;
  title: string;
  factory: string;
  intro: ReactNode;
  children: ReactNode;
}) {
  return (
    <section id={id} aria-labelledby={`${id}-heading`} className="card">
      <header className="card-head">
        {/* tabIndex -1: focus lands here after an action removes what had focus (a deleted row). */}
        <h2 id={`${id}-heading`} tabIndex={-1}>
          {title}
        </h2>
        <code className="chip">{factory}</code>
      </header>
      <p className="intro">{intro}</p>
      {children}
    </section>
  );
}
