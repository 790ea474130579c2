"""The application layer: one function per use case, called by both shells.

``cli/`` and ``web/`` map their arguments onto a typed request, call the use case here and render
its typed result; nothing else. So the defaults, the model a review goes to, what a rerun keeps
and the records a job writes are the same from the terminal and from the page by construction.

- ``runfolder``: a run folder (layout, record kinds, lock, resume and empty-folder rules);
- ``session``: the model a use case runs on (model, engine, server, options, constrain, limits),
  built once and kept loaded between jobs of the same model;
- ``report``: the one way a use case tells its caller how far it is and what went wrong;
- ``sources``: anything a user gives to be read (a file, an upload, a stored record);
- one module per use case: ``generate``, ``complete``, ``review``, ``detect``, ``calibrate``,
  ``evaluate``, ``novelty``, ``train``; ``export`` (``paper export``), ``references``
  (``references render``), ``enrich`` (``references enrich``).

Heavy libraries are never imported here; the use cases reach them through the stages they call.
"""
