package chromium

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
)

// message is one Chrome DevTools Protocol message in either direction.
type message struct {
	ID        int64           `json:"id,omitempty"`
	Method    string          `json:"method,omitempty"`
	Params    json.RawMessage `json:"params,omitempty"`
	SessionID string          `json:"sessionId,omitempty"`
	Result    json.RawMessage `json:"result,omitempty"`
	Error     *protocolError  `json:"error,omitempty"`
}

// protocolError is an error returned by the browser for a command.
type protocolError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Data    string `json:"data,omitempty"`
}

func (e *protocolError) Error() string {
	if e.Data != "" {
		return fmt.Sprintf("%s (%d): %s", e.Message, e.Code, e.Data)
	}
	return fmt.Sprintf("%s (%d)", e.Message, e.Code)
}

// eventHandler receives the events of one session. It runs on the reader
// goroutine and must not wait for command results.
type eventHandler func(method string, params json.RawMessage)

// conn multiplexes commands and events over the browser's debugging pipe,
// where each message is a JSON object terminated by a NUL byte.
type conn struct {
	w       io.WriteCloser
	writeMu sync.Mutex

	mu       sync.Mutex
	nextID   int64
	pending  map[int64]chan message
	handlers map[string]eventHandler
	closed   chan struct{}
	err      error // why the connection closed; set before closed is closed
}

func newConn(r io.Reader, w io.WriteCloser) *conn {
	c := &conn{
		w:        w,
		pending:  map[int64]chan message{},
		handlers: map[string]eventHandler{},
		closed:   make(chan struct{}),
	}
	go c.readLoop(r)
	return c
}

func (c *conn) readLoop(r io.Reader) {
	br := bufio.NewReaderSize(r, 1<<20)
	var err error
	for {
		var frame []byte
		frame, err = br.ReadBytes(0)
		if err != nil {
			break
		}
		var m message
		if err = json.Unmarshal(frame[:len(frame)-1], &m); err != nil {
			err = fmt.Errorf("decoding devtools message: %w", err)
			break
		}
		c.mu.Lock()
		if m.ID != 0 {
			ch := c.pending[m.ID]
			delete(c.pending, m.ID)
			c.mu.Unlock()
			if ch != nil {
				ch <- m
			}
			continue
		}
		h := c.handlers[m.SessionID]
		c.mu.Unlock()
		if h != nil {
			h(m.Method, m.Params)
		}
	}
	if errors.Is(err, io.EOF) {
		err = errors.New("browser closed the devtools pipe")
	}
	c.mu.Lock()
	c.err = err
	c.mu.Unlock()
	close(c.closed)
}

// handle registers h for the events of sessionID ("" for browser events).
func (c *conn) handle(sessionID string, h eventHandler) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if h == nil {
		delete(c.handlers, sessionID)
		return
	}
	c.handlers[sessionID] = h
}

// send writes a command and returns its id without waiting for the result.
func (c *conn) send(sessionID, method string, params any, reply chan message) (int64, error) {
	raw, err := json.Marshal(params)
	if err != nil {
		return 0, fmt.Errorf("encoding %s params: %w", method, err)
	}
	c.mu.Lock()
	c.nextID++
	id := c.nextID
	if reply != nil {
		c.pending[id] = reply
	}
	c.mu.Unlock()
	frame, err := json.Marshal(message{ID: id, Method: method, Params: raw, SessionID: sessionID})
	if err != nil {
		return 0, fmt.Errorf("encoding %s: %w", method, err)
	}
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if _, err := c.w.Write(append(frame, 0)); err != nil {
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
		return 0, fmt.Errorf("sending %s: %w", method, err)
	}
	return id, nil
}

// call sends a command and decodes its result into result (which may be nil).
func (c *conn) call(ctx context.Context, sessionID, method string, params, result any) error {
	if params == nil {
		params = struct{}{}
	}
	reply := make(chan message, 1)
	id, err := c.send(sessionID, method, params, reply)
	if err != nil {
		return err
	}
	select {
	case m := <-reply:
		if m.Error != nil {
			return fmt.Errorf("%s: %w", method, m.Error)
		}
		if result != nil {
			if err := json.Unmarshal(m.Result, result); err != nil {
				return fmt.Errorf("decoding %s result: %w", method, err)
			}
		}
		return nil
	case <-c.closed:
		c.mu.Lock()
		err := c.err
		c.mu.Unlock()
		return fmt.Errorf("%s: %w", method, err)
	case <-ctx.Done():
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
		return fmt.Errorf("%s: %w", method, ctx.Err())
	}
}

// close closes the write side of the pipe, which makes the browser exit.
func (c *conn) close() error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	return c.w.Close()
}
