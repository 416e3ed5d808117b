"""The IMDB dataset: find, download (verified) and read it; numpy only, used by train, export and bench."""
