"""The migration console: which legacy clients still call, what they use, what each must change.

- :mod:`.features` names the legacy features and detects them in parsed requests (pure);
- :mod:`.ledger` counts answered legacy requests in the process and flushes them to the state
  store every few seconds (:mod:`.view` reads them back, :mod:`.report` turns them into
  migration advice);
- :mod:`.routes` serves /console/ (HTML, inline SVG charts, no external resources) and
  /console/api/; :mod:`.sunset` adds the Sunset/Deprecation headers to legacy answers.

docs/console.md describes it.
"""
