"""The web page's routes, one module per page or action: ``index`` (start page), ``research``
(generate, complete), ``review`` (upload, review a paper, the review page), ``detect``, ``papers``
(the paper page and its downloads), ``runs`` (run list and run page), ``jobs`` (job page and API).
Each module has one ``router``; ``app.create_app`` includes them all."""
