import socket,sys,time
s=socket.socket(socket.AF_INET6 if ':' in sys.argv[1] else socket.AF_INET); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(5)
mode=sys.argv[3]
conns=[]
while True:
    c,_=s.accept(); conns.append(c)
    if mode=='http':
        c.recv(4096); c.sendall(b'HTTP/1.1 400 Bad Request\r\nContent-Type: text/html\r\nContent-Length: 11\r\nConnection: close\r\n\r\nBad Request'); c.close()
    if mode=='rst':
        # reads the ClientHello, says nothing, and 2 s later aborts the connection (RST)
        import struct
        c.recv(4096); time.sleep(2)
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0)); c.close()
    if mode=='oauth401':
        # a plain-HTTP OAuth service: the token call is answered 401 invalid_grant in clear
        c.recv(4096)
        b=b'{"error":"invalid_grant","error_description":"Invalid username or password"}'
        c.sendall(b'HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n' % len(b) + b); c.close()
