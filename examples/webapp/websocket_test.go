package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// wsConn is the client side of a WebSocket connection (RFC 6455), as much
// of it as the DevTools protocol needs: text messages out, masked, in one
// frame; text messages in, reassembled from fragments; pings answered;
// closing answered.
type wsConn struct {
	conn net.Conn
	r    *bufio.Reader
	wmu  sync.Mutex // one frame at a time: the reader answers pings too
}

// wsGUID is the fixed string of the opening handshake (RFC 6455 §1.3).
const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// wsMaxMessage bounds a reassembled message; DevTools messages with page
// contents stay well below it.
const wsMaxMessage = 64 << 20

// dialWebSocket opens a WebSocket connection to a ws:// URL.
func dialWebSocket(ctx context.Context, rawURL string) (*wsConn, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "ws" {
		return nil, fmt.Errorf("websocket: %q is not a ws:// URL", rawURL)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", u.Host)
	if err != nil {
		return nil, err
	}
	if deadline, ok := ctx.Deadline(); ok {
		conn.SetDeadline(deadline)
	}
	ws, err := handshake(conn, u)
	if err != nil {
		conn.Close()
		return nil, err
	}
	conn.SetDeadline(time.Time{})
	return ws, nil
}

// handshake sends the opening request and checks the server's answer
// (RFC 6455 §4.1).
func handshake(conn net.Conn, u *url.URL) (*wsConn, error) {
	nonce := make([]byte, 16)
	rand.Read(nonce)
	key := base64.StdEncoding.EncodeToString(nonce)
	req := "GET " + u.RequestURI() + " HTTP/1.1\r\n" +
		"Host: " + u.Host + "\r\n" +
		"Upgrade: websocket\r\n" +
		"Connection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + key + "\r\n" +
		"Sec-WebSocket-Version: 13\r\n\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		return nil, err
	}
	r := bufio.NewReader(conn)
	resp, err := http.ReadResponse(r, &http.Request{Method: http.MethodGet})
	if err != nil {
		return nil, fmt.Errorf("websocket: reading the handshake answer: %w", err)
	}
	resp.Body.Close() // a 101 has no body; r keeps what follows it
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return nil, fmt.Errorf("websocket: the server answered %s, not 101 Switching Protocols", resp.Status)
	}
	if !strings.EqualFold(resp.Header.Get("Upgrade"), "websocket") {
		return nil, errors.New("websocket: the answer does not upgrade to websocket")
	}
	sum := sha1.Sum([]byte(key + wsGUID))
	if resp.Header.Get("Sec-WebSocket-Accept") != base64.StdEncoding.EncodeToString(sum[:]) {
		return nil, errors.New("websocket: wrong Sec-WebSocket-Accept")
	}
	return &wsConn{conn: conn, r: r}, nil
}

// Opcodes (RFC 6455 §5.2).
const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xA
)

// WriteText sends p as one text message.
func (c *wsConn) WriteText(p []byte) error { return c.writeFrame(opText, p) }

// writeFrame sends one final frame, masked as every client frame must be
// (RFC 6455 §5.3).
func (c *wsConn) writeFrame(op byte, payload []byte) error {
	hdr := make([]byte, 2, 14)
	hdr[0] = 0x80 | op // FIN
	switch n := len(payload); {
	case n < 126:
		hdr[1] = 0x80 | byte(n)
	case n <= 0xFFFF:
		hdr[1] = 0x80 | 126
		hdr = binary.BigEndian.AppendUint16(hdr, uint16(n))
	default:
		hdr[1] = 0x80 | 127
		hdr = binary.BigEndian.AppendUint64(hdr, uint64(n))
	}
	var mask [4]byte
	rand.Read(mask[:])
	hdr = append(hdr, mask[:]...)
	masked := make([]byte, len(payload))
	for i, b := range payload {
		masked[i] = b ^ mask[i%4]
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_, err := c.conn.Write(append(hdr, masked...))
	return err
}

// ReadMessage returns the next text or binary message, reassembled from
// its fragments. It answers pings on the way, and returns io.EOF once the
// server closes the connection.
func (c *wsConn) ReadMessage() ([]byte, error) {
	var msg []byte
	started := false
	for {
		fin, op, payload, err := c.readFrame()
		if err != nil {
			return nil, err
		}
		switch op {
		case opPing:
			if err := c.writeFrame(opPong, payload); err != nil {
				return nil, err
			}
			continue
		case opPong:
			continue
		case opClose:
			_ = c.writeFrame(opClose, payload[:min(len(payload), 2)])
			return nil, io.EOF
		case opText, opBinary:
			if started {
				return nil, errors.New("websocket: a new message began inside a fragmented one")
			}
			started = true
		case opContinuation:
			if !started {
				return nil, errors.New("websocket: a continuation frame without a message")
			}
		default:
			return nil, fmt.Errorf("websocket: unknown opcode %#x", op)
		}
		if len(msg)+len(payload) > wsMaxMessage {
			return nil, fmt.Errorf("websocket: a message longer than %d bytes", wsMaxMessage)
		}
		msg = append(msg, payload...)
		if fin {
			return msg, nil
		}
	}
}

// readFrame reads one frame from the server, which must not mask it.
func (c *wsConn) readFrame() (fin bool, op byte, payload []byte, err error) {
	var hdr [2]byte
	if _, err := io.ReadFull(c.r, hdr[:]); err != nil {
		return false, 0, nil, err
	}
	fin, op = hdr[0]&0x80 != 0, hdr[0]&0x0F
	if hdr[0]&0x70 != 0 {
		return false, 0, nil, errors.New("websocket: reserved bits set without an extension")
	}
	if hdr[1]&0x80 != 0 {
		return false, 0, nil, errors.New("websocket: the server masked a frame")
	}
	n := uint64(hdr[1] & 0x7F)
	switch n {
	case 126:
		var ext [2]byte
		if _, err := io.ReadFull(c.r, ext[:]); err != nil {
			return false, 0, nil, err
		}
		n = uint64(binary.BigEndian.Uint16(ext[:]))
	case 127:
		var ext [8]byte
		if _, err := io.ReadFull(c.r, ext[:]); err != nil {
			return false, 0, nil, err
		}
		n = binary.BigEndian.Uint64(ext[:])
	}
	if op >= opClose && (n > 125 || !fin) {
		return false, 0, nil, errors.New("websocket: a control frame longer than 125 bytes or fragmented")
	}
	if n > wsMaxMessage {
		return false, 0, nil, fmt.Errorf("websocket: a frame of %d bytes", n)
	}
	payload = make([]byte, n)
	_, err = io.ReadFull(c.r, payload)
	return fin, op, payload, err
}

// Close sends a close frame and closes the connection.
func (c *wsConn) Close() error {
	_ = c.writeFrame(opClose, []byte{0x03, 0xE8}) // 1000: normal closure
	return c.conn.Close()
}
