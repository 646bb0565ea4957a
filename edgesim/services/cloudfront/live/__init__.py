"""CloudFront's shells that run processes (Lambda@Edge workers); not part of the I/O-free core."""
