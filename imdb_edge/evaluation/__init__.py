"""`imdb-edge evaluate`: how good a model file is on labelled data (metrics.py), the data it reads
(labelled_rows.py) and the reliability diagram (plot.py, the only place matplotlib is imported)."""
