from attnkb.cli import main

main()
