"""Lambda@Edge: the user's own handlers at CloudFront's four triggers.

:mod:`edgesim.lambda_edge.events` builds the event objects and checks the handlers' answers
(I/O-free, the rules AWS documents); :mod:`edgesim.lambda_edge.runner` runs a handler in its
own worker process (a shell: processes, pipes, timeouts), as a Lambda execution environment.
"""
