"""The report layer: files made from a run's (or a sweep's) report, above the I/O-free core.

* :mod:`edgesim.report.output`: the JSON text, the time series as CSV, atomic writes;
* :mod:`edgesim.report.html`: the self-contained HTML report of a run, drawn with
  :mod:`edgesim.report.page` (styles, tables, matplotlib figures as embedded PNGs);
* :mod:`edgesim.report.sweep`: the HTML page of a sweep;
* :mod:`edgesim.report.plot`: world maps (``edgesim topo map``).
"""
