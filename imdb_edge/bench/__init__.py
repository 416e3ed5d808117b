"""`imdb-edge bench`: timed runs (latency), the device (machine), tables (report), histograms (plot)."""
