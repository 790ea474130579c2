// The review forms' "DeepReviewer mode" is DeepReviewer's only: disabled while CycleReviewer is
// chosen (a disabled select is not sent; the server then takes its default, Standard).
(function () {
  for (const reviewer of document.querySelectorAll("select[data-reviewer]")) {
    const mode = reviewer.form && reviewer.form.querySelector("select[data-review-mode]");
    if (!mode) continue;
    const sync = () => { mode.disabled = reviewer.value !== "deepreviewer"; };
    reviewer.addEventListener("change", sync);
    sync();
  }
})();
