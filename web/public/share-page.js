// The public share page (rendered by the server without the app): shows the dates it carries in
// the visitor's own time zone and language. Without it they read in UTC, which is still correct.
for (const el of document.querySelectorAll('time[data-local]')) {
  const when = new Date(el.getAttribute('datetime'));
  if (!Number.isNaN(when.getTime()))
    el.textContent = when.toLocaleString(undefined, { dateStyle: 'long', timeStyle: 'short' });
}
