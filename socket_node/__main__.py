from socket_node.server import main

main()
