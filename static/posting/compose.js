// Compose (P1): each chosen photo is sent at once, and a failed send over a poor
// connection is retried with the same upload_key, so the server never makes it twice.
// Without this file the form sends its photos with everything else; nothing is lost.
(() => {
  const form = document.getElementById("compose");
  if (!form || !window.fetch || !window.FormData) return;
  const input = form.querySelector("input[type=file][name=photos]");
  const photos = document.getElementById("photos");
  const errorBox = document.getElementById("photo-client-error");
  const maxBytes = Number(form.dataset.maxBytes);
  const csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;

  const showError = (text) => {
    errorBox.textContent = text;
    errorBox.hidden = !text;
  };
  const newKey = () =>
    window.crypto && crypto.randomUUID
      ? crypto.randomUUID()
      : Date.now().toString(16) + Math.random().toString(16).slice(2);
  const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  async function send(file, uploadKey) {
    for (let attempt = 0; attempt < 4; attempt += 1) {
      const body = new FormData();
      body.append("client_key", form.elements.client_key.value);
      body.append("upload_key", uploadKey);
      body.append("photo", file);
      try {
        const response = await fetch(form.dataset.photoUrl, {
          method: "POST",
          body,
          headers: { "X-CSRFToken": csrf },
          credentials: "same-origin",
        });
        if (response.status >= 500) throw new Error(`HTTP ${response.status}`);
        photos.innerHTML = await response.text();
        if (window.htmx) window.htmx.process(photos);
        const url = response.headers.get("X-Post-Url");
        if (url && window.location.pathname !== url) window.history.replaceState(null, "", url);
        return;
      } catch (error) {
        await pause(1000 * 2 ** attempt);
      }
    }
    showError(form.dataset.sendFailed.replace("NAME", file.name));
  }

  input.addEventListener("change", async () => {
    showError("");
    const files = Array.from(input.files);
    input.value = ""; // sent here, so the form itself need not carry them again
    for (const file of files) {
      if (file.size > maxBytes) {
        showError(form.dataset.tooLarge.replace("NAME", file.name));
        continue;
      }
      await send(file, newKey());
    }
  });
})();
