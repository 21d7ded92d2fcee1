// token.js — the admin token, for Reset and the admin panel alike: asked
// for in the page's dialog, kept in sessionStorage once the shop has
// accepted it, and nowhere else.

const TOKEN_KEY = 'lastitem.adminToken';
const $ = (id) => document.getElementById(id);

export function getToken() {
  return sessionStorage.getItem(TOKEN_KEY) || '';
}

// saveToken(token): only after the shop accepted it.
export function saveToken(token) {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
}

export function forgetToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

// askToken(why, okLabel): the token typed in the dialog; null when cancelled.
export function askToken(why, okLabel = 'OK') {
  const dialog = $('token-dialog');
  const input = $('token-input');
  $('token-why').textContent = why;
  $('token-ok').textContent = okLabel;
  input.value = '';
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => {
      const token = input.value.trim();
      input.value = '';   // kept in sessionStorage once it works, nowhere else
      resolve(dialog.returnValue === 'ok' && token ? token : null);
    }, { once: true });
    dialog.returnValue = '';
    dialog.showModal();
    input.focus();
  });
}
