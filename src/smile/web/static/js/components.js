// Alpine components used by several pages. Alpine is its CSP build (no eval): attributes may hold
// simple expressions over a component's own data, but no statements and no globals (URL, fetch,
// confirm...), so anything more lives here as a method. Loaded before Alpine (both deferred).
"use strict";

document.addEventListener("alpine:init", () => {
  async function uploadMedia(file) {
    const data = new FormData();
    data.append("file", file);
    data.append("alt", "");
    return fetch("/api/v1/media", { method: "POST", body: data, credentials: "same-origin",
                                    headers: { "X-CSRF-Token": document.body.dataset.csrf } });
  }

  // The post composer (social/partials/composer.html): text, content warning, poll, media.
  window.Alpine.data("smileComposer", () => ({
    body: "", cw: false, poll: false, options: ["", ""], media: [], error: "", uploading: false,
    left() { return `${5000 - this.body.length} characters left`; },
    reset() {
      this.body = ""; this.cw = false; this.poll = false; this.options = ["", ""]; this.media = []; this.error = "";
      this.$root.reset();
    },
    posted(event) {
      if (event.detail.successful && event.detail.elt === this.$root) this.reset();
    },
    async upload(event) {
      const files = Array.from(event.target.files || []);
      if (this.media.length + files.length > 4) { this.error = "Up to 4 images or 1 video."; return; }
      this.uploading = true; this.error = "";
      for (const file of files) {
        const item = { id: null, preview: URL.createObjectURL(file), alt: file.name };
        this.media.push(item);
        const r = await uploadMedia(file);
        if (r.ok) {
          const m = await r.json();
          const i = this.media.indexOf(item);
          if (i >= 0) this.media[i] = { ...item, id: m.id };
        } else {
          this.media.splice(this.media.indexOf(item), 1);
          this.error = (await r.json().catch(() => ({}))).detail || "Upload failed.";
        }
      }
      this.uploading = false; event.target.value = "";
    },
  }));

  // A picture chosen in a file input, shown before it is uploaded (identity/profile.html).
  window.Alpine.data("smileImagePreview", () => ({
    preview: null,
    pick(event) {
      const file = event.target.files[0];
      if (this.preview) URL.revokeObjectURL(this.preview);
      this.preview = file ? URL.createObjectURL(file) : null;
    },
  }));
});
