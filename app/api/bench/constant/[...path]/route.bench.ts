/**
 * The framework's floor for a dynamic route (scripts/bench): the constant route's 4 KiB answer
 * under a catch-all segment, as the kit's routes are (`app/api/path/[...path]`). Next matches a
 * dynamic route and builds its params on every request, which costs a static route nothing; the
 * bench shows the kit against both floors.
 */
export const dynamic = 'force-dynamic';

export { GET, HEAD } from '../route.bench';
