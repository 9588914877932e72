from pakhuis.cli import main

main()
