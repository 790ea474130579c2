// Poll the job's state once a second; go to the result when it is done. No framework needed.
(function () {
  const box = document.getElementById("job");
  if (!box) return;
  const id = box.dataset.job;
  const $ = (x) => document.getElementById(x);
  function show(job) {
    box.dataset.state = job.state;
    $("job-state").textContent = job.state;
    $("job-state").className = "state " + job.state;
    $("job-message").textContent = job.message || "";
    $("job-count").textContent = job.done + (job.total ? " / " + job.total : "");
    $("job-elapsed").textContent = job.elapsed_s.toFixed(1);
    if (job.tokens) {
      $("job-generation").hidden = false;
      $("job-tokens").textContent = job.tokens;
      $("job-rate").textContent = job.tok_s == null ? "--" : job.tok_s.toFixed(1);
      $("job-eta").textContent = job.eta_text;
      $("job-requests").textContent = job.requests_done + (job.requests_total ? " / " + job.requests_total : "");
    }
    const bar = $("job-progress");
    // percent moves with the tokens of a running batch, not only with papers done
    if (job.total || job.percent) { bar.max = 100; bar.value = job.percent; }
    if (job.error) { $("job-error").textContent = job.error; $("job-error").hidden = false; }
    if (job.warnings && job.warnings.length) {
      const list = $("job-warnings").querySelector("ul");
      list.replaceChildren(...job.warnings.map((w) => { const li = document.createElement("li"); li.textContent = w; return li; }));
      $("job-warnings").hidden = false;
    }
    if (job.result_url) { $("job-result-link").href = job.result_url; $("job-result").hidden = false; }
  }
  async function tick() {
    try {
      const res = await fetch("/api/jobs/" + id, { cache: "no-store" });
      if (res.ok) {
        const job = await res.json();
        show(job);
        if (job.state === "done" && job.result_url) { window.location.assign(job.result_url); return; }
        // stopped: the page again from the server, with its ways to try again and no time left
        if (job.state === "failed" || job.state === "interrupted") { window.location.reload(); return; }
      }
    } catch (e) { /* server restarting: try again */ }
    setTimeout(tick, 1000);
  }
  if (box.dataset.state === "queued" || box.dataset.state === "running") tick();
})();
