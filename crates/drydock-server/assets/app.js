// drydock dashboard: progressive enhancement only; every page works without it.
'use strict';
document.addEventListener('DOMContentLoaded', () => {
  // Filter forms leave empty fields out of the URL: short, shareable links.
  for (const form of document.querySelectorAll('form[method="get"]')) {
    form.addEventListener('formdata', (event) => {
      for (const [name, value] of [...event.formData.entries()]) {
        if (value === '') event.formData.delete(name);
      }
    });
  }
  // Filters marked data-autosubmit apply as soon as they change.
  for (const control of document.querySelectorAll('[data-autosubmit]')) {
    control.addEventListener('change', () => {
      if (control.form) control.form.requestSubmit();
    });
  }
  // `#pod-NAME` in a namespace page: highlight that pod's rows.
  const hash = decodeURIComponent(window.location.hash || '');
  if (hash.startsWith('#pod-')) {
    const pod = hash.slice(5);
    let first = null;
    for (const row of document.querySelectorAll('tr[data-pod]')) {
      if (row.dataset.pod === pod) {
        row.classList.add('highlight');
        first = first || row;
      }
    }
    if (first) first.scrollIntoView({ block: 'center' });
  }
});
