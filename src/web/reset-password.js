// The set/reset-password page: the token comes in the URL's fragment, which
// browsers never send to a server nor put in a Referer header.
const form = document.getElementById('reset');
const password = document.getElementById('password');
const confirm = document.getElementById('confirm');

const token = new URLSearchParams(location.hash.slice(1)).get('token');
// Drop the token from the address bar and history once read.
history.replaceState(null, '', location.pathname);

function show(id, visible) {
  document.getElementById(id).hidden = !visible;
}

function fieldError(input, message) {
  const box = document.getElementById(`${input.id}-error`);
  box.textContent = message || '';
  box.hidden = !message;
  input.setAttribute('aria-invalid', message ? 'true' : 'false');
}

if (!token) {
  show('reset', false);
  show('invalid', true);
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  fieldError(password, '');
  fieldError(confirm, '');
  if (password.value.length < 12) {
    fieldError(password, 'Use at least 12 characters.');
    password.focus();
    return;
  }
  if (password.value !== confirm.value) {
    fieldError(confirm, 'The two passwords differ.');
    confirm.focus();
    return;
  }
  const button = form.querySelector('button');
  button.disabled = true;
  try {
    const response = await fetch('/api/v1/password/reset', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ token, password: password.value }),
    });
    if (response.status === 204) {
      show('reset', false);
      show('done', true);
      return;
    }
    const error = await response.json().catch(() => ({}));
    if (error.field === 'password') {
      fieldError(password, error.detail || error.hint);
      password.focus();
    } else {
      show('reset', false);
      show('invalid', true);
    }
  } catch {
    fieldError(password, 'The server could not be reached. Try again in a moment.');
  } finally {
    button.disabled = false;
  }
});
