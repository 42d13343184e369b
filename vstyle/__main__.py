from vstyle.launch import main

main()
