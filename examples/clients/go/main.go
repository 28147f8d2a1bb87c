// main.go — a Go client for a pipehost endpoint that uses length framing, with github.com/Microsoft/go-winio: one
// request, one answer.
//
// Run it on Windows (Go 1.21 or later; go.mod requires go-winio v0.6.2, the first with DialPipeAccessImpLevel),
// against `pipehost run --framing length --pipe demo` (or a service whose Framing value is length):
//
//	go mod tidy                      (once: fetches go-winio and writes go.sum)
//	go run . demo PING               -> OK PONG
//	go run . demo ECHO hello world   -> OK hello world
//
// Or cross-build it anywhere with GOOS=windows GOARCH=amd64 go build. Exit code 0 for an OK answer, 1 for ERR or a
// connection failure, 2 for bad arguments.
//
// Why length framing: go-winio presents every pipe as a byte stream. It never sets message read mode on the client
// handle, so on a message-mode pipe the answers run together with no boundary (and its CloseWrite sends a zero-length
// message, which pipehost answers with ERR empty-request). With length framing the 4-byte length says where each
// answer ends.
//
// Why DialPipeAccessImpLevel and not DialPipe: DialPipe opens the pipe at the anonymous impersonation level, so the
// server cannot tell who you are (WHOAMI shows no SID, and verbs restricted to some users refuse you).
// Identification lets it identify you without being able to act as you. The access is DialPipe's own,
// GENERIC_READ | GENERIC_WRITE: pipehost's default configuration (a fixed pool) lets ordinary users ask for it.
// Against a server configured with MaxInstances=255 (unlimited), an ordinary user must ask for
// GENERIC_READ | FILE_WRITE_DATA instead: see "Which rights a client needs" in ../README.md.
package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/Microsoft/go-winio"
)

const maxAnswer = 64 << 20 // refuse to allocate more than this for one answer

// request sends one length-framed request and reads its length-framed answer.
func request(conn io.ReadWriter, req []byte) ([]byte, error) {
	frame := make([]byte, 4+len(req))
	binary.LittleEndian.PutUint32(frame, uint32(len(req)))
	copy(frame[4:], req)
	if _, err := conn.Write(frame); err != nil { // one write: a frame is never interleaved with another
		return nil, err
	}
	var head [4]byte
	if _, err := io.ReadFull(conn, head[:]); err != nil { // a byte stream: the frame may arrive in pieces
		return nil, err
	}
	n := binary.LittleEndian.Uint32(head[:])
	if n > maxAnswer {
		return nil, fmt.Errorf("answer length %d is over %d", n, maxAnswer)
	}
	answer := make([]byte, n)
	if _, err := io.ReadFull(conn, answer); err != nil {
		return nil, err
	}
	return answer, nil
}

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) < 1 {
		fmt.Fprintln(os.Stderr, "usage: go run . PIPE_NAME [VERB [PAYLOAD...]]")
		return 2
	}
	path := args[0]
	if !strings.HasPrefix(path, `\\`) {
		path = `\\.\pipe\` + path
	}
	req := "PING"
	if len(args) > 1 {
		req = strings.Join(args[1:], " ")
	}

	// Retries while every instance is busy, until the context's deadline.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// DialPipe's access (GENERIC_READ | GENERIC_WRITE), at the identification level (see the top of this file).
	conn, err := winio.DialPipeAccessImpLevel(ctx, path, syscall.GENERIC_READ|syscall.GENERIC_WRITE,
		winio.PipeImpLevelIdentification)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", path, err)
		return 1
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second)) // bounds the write and the read

	answer, err := request(conn, []byte(req))
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", path, err)
		return 1
	}
	fmt.Println(string(answer))
	if !strings.HasPrefix(string(answer), "OK ") { // "ERR <code> <text>"
		return 1
	}
	return 0
}
