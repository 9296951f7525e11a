package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// wsServer is the server side of one connection, written from RFC 6455
// independently of the client, to test it.
type wsServer struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

// serveWebSocket accepts one connection and answers its handshake with
// accept(key), then hands it to script.
func serveWebSocket(t *testing.T, accept func(key string) string, script func(s *wsServer)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan struct{})
	t.Cleanup(func() {
		l.Close()
		<-done
	})
	go func() {
		defer close(done)
		conn, err := l.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		r := bufio.NewReader(conn)
		req, err := http.ReadRequest(r)
		if !assert.NoError(t, err) {
			return
		}
		assert.Equal(t, "websocket", req.Header.Get("Upgrade"))
		assert.Equal(t, "13", req.Header.Get("Sec-WebSocket-Version"))
		nonce, err := base64.StdEncoding.DecodeString(req.Header.Get("Sec-WebSocket-Key"))
		assert.NoError(t, err)
		assert.Len(t, nonce, 16)
		io.WriteString(conn, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "+
			accept(req.Header.Get("Sec-WebSocket-Key"))+"\r\n\r\n")
		script(&wsServer{t: t, conn: conn, r: r})
	}()
	return "ws://" + l.Addr().String() + "/devtools/browser/x"
}

func rightAccept(key string) string {
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// frame writes one unmasked server frame.
func (s *wsServer) frame(fin bool, op byte, payload []byte) {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	hdr := []byte{b0}
	switch n := len(payload); {
	case n < 126:
		hdr = append(hdr, byte(n))
	case n <= 0xFFFF:
		hdr = binary.BigEndian.AppendUint16(append(hdr, 126), uint16(n))
	default:
		hdr = binary.BigEndian.AppendUint64(append(hdr, 127), uint64(n))
	}
	_, err := s.conn.Write(append(hdr, payload...))
	assert.NoError(s.t, err)
}

// read reads one client frame, which must be masked, and unmasks it.
func (s *wsServer) read() (byte, []byte) {
	var hdr [2]byte
	_, err := io.ReadFull(s.r, hdr[:])
	require.NoError(s.t, err)
	assert.True(s.t, hdr[0]&0x80 != 0, "FIN")
	assert.True(s.t, hdr[1]&0x80 != 0, "a client frame must be masked")
	n := uint64(hdr[1] & 0x7F)
	switch n {
	case 126:
		var ext [2]byte
		io.ReadFull(s.r, ext[:])
		n = uint64(binary.BigEndian.Uint16(ext[:]))
	case 127:
		var ext [8]byte
		io.ReadFull(s.r, ext[:])
		n = binary.BigEndian.Uint64(ext[:])
	}
	var mask [4]byte
	io.ReadFull(s.r, mask[:])
	p := make([]byte, n)
	_, err = io.ReadFull(s.r, p)
	require.NoError(s.t, err)
	for i := range p {
		p[i] ^= mask[i%4]
	}
	return hdr[0] & 0x0F, p
}

func TestWebSocketClient(t *testing.T) {
	t.Parallel()
	big := bytes.Repeat([]byte("x"), 70000) // a 64-bit length
	mid := bytes.Repeat([]byte("y"), 300)   // a 16-bit length
	url := serveWebSocket(t, rightAccept, func(s *wsServer) {
		for _, want := range [][]byte{[]byte(`{"id":1}`), mid, big} {
			op, p := s.read()
			assert.Equal(t, byte(opText), op)
			assert.Equal(t, want, p)
		}
		// A message in three fragments, with a ping between two of them.
		s.frame(false, opText, []byte(`{"method":`))
		s.frame(true, opPing, []byte("hi"))
		s.frame(false, opContinuation, []byte(`"Page.`))
		s.frame(true, opContinuation, []byte(`loadEventFired"}`))
		op, p := s.read()
		assert.Equal(t, byte(opPong), op)
		assert.Equal(t, []byte("hi"), p)
		s.frame(true, opText, big)
		s.frame(true, opClose, []byte{0x03, 0xE8})
		op, _ = s.read()
		assert.Equal(t, byte(opClose), op)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := dialWebSocket(ctx, url)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.WriteText([]byte(`{"id":1}`)))
	require.NoError(t, c.WriteText(mid))
	require.NoError(t, c.WriteText(big))
	m, err := c.ReadMessage()
	require.NoError(t, err)
	assert.Equal(t, `{"method":"Page.loadEventFired"}`, string(m))
	m, err = c.ReadMessage()
	require.NoError(t, err)
	assert.Equal(t, big, m)
	_, err = c.ReadMessage()
	assert.ErrorIs(t, err, io.EOF)
}

// A server that breaks the protocol is refused, not misread.
func TestWebSocketClientRefuses(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	url := serveWebSocket(t, func(string) string { return "d3Jvbmc=" }, func(*wsServer) {})
	_, err := dialWebSocket(ctx, url)
	assert.ErrorContains(t, err, "Sec-WebSocket-Accept")
	_, err = dialWebSocket(ctx, "http://127.0.0.1:1/")
	assert.ErrorContains(t, err, "not a ws:// URL")

	for name, c := range map[string]struct {
		send func(s *wsServer)
		want string
	}{
		"masked frame":         {func(s *wsServer) { s.conn.Write([]byte{0x81, 0x81, 1, 2, 3, 4, 'x'}) }, "masked"},
		"reserved bits":        {func(s *wsServer) { s.conn.Write([]byte{0xC1, 0x01, 'x'}) }, "reserved bits"},
		"stray continuation":   {func(s *wsServer) { s.frame(true, opContinuation, []byte("x")) }, "continuation"},
		"message in a message": {func(s *wsServer) { s.frame(false, opText, []byte("a")); s.frame(true, opText, []byte("b")) }, "inside a fragmented"},
		"fragmented ping":      {func(s *wsServer) { s.frame(false, opPing, []byte("a")) }, "control frame"},
		"long ping":            {func(s *wsServer) { s.frame(true, opPing, bytes.Repeat([]byte("a"), 126)) }, "control frame"},
		"unknown opcode":       {func(s *wsServer) { s.frame(true, 0x3, []byte("a")) }, "unknown opcode"},
		"huge frame":           {func(s *wsServer) { s.conn.Write([]byte{0x81, 127, 0x7f, 0, 0, 0, 0, 0, 0, 0}) }, "a frame of"},
	} {
		url := serveWebSocket(t, rightAccept, func(s *wsServer) {
			c.send(s)
			s.r.Peek(1) // wait for the client to give up
		})
		ws, err := dialWebSocket(ctx, url)
		require.NoError(t, err, name)
		_, err = ws.ReadMessage()
		if assert.Error(t, err, name) {
			assert.True(t, strings.Contains(err.Error(), c.want), "%s: %v", name, err)
		}
		ws.conn.Close()
	}
}
