from imdb_edge.cli import main

main()
