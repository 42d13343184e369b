from vstyle.cli.main import main

main()
