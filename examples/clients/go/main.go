// main.go — a Go client for a pipehost endpoint that uses length framing, with github.com/Microsoft/go-winio: one
// request, one answer.
//
// Run it on Windows (Go 1.21 or later; go.mod requires go-winio v0.6.2, the first with DialPipeAccessImpLevel),
// against `pipehost run --framing length --pipe demo` (or a service whose Framing value is length):
//
//	go mod tidy                                  (once: fetches go-winio and x/sys, writes go.sum)
//	go run . --any-server demo PING              -> OK PONG       (a `pipehost run` of your own)
//	go run . --service mysvc mysvc ECHO hello    -> OK hello      (a service with Framing length)
//
// Or cross-build it anywhere with GOOS=windows GOARCH=amd64 go build. Exit code 0 for an OK answer, 1 for ERR, a
// connection failure or a server that is not the expected one, 2 for bad arguments.
//
// Before sending anything it checks who serves the pipe, as pipehost's own client does (a program that took the pipe
// name first would otherwise receive the request): with --service NAME the serving process
// (GetNamedPipeServerProcessId) must be that service's, as the Service Control Manager reports it; without it, the
// serving process must run as a service account (SYSTEM, LocalService, NetworkService or a per-service SID
// S-1-5-80-...), or, when its token may not be read (an ordinary user and a SYSTEM process), the pipe must be owned by
// one of those or by Administrators. --any-server skips the check, for a server you started yourself.
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
	"unsafe"

	"github.com/Microsoft/go-winio"
	"golang.org/x/sys/windows"
)

// x/sys/windows has no wrapper for it in every version; kernel32 has had it since Vista.
var procGetNamedPipeServerProcessID = windows.NewLazySystemDLL("kernel32.dll").NewProc("GetNamedPipeServerProcessId")

func serverPID(h windows.Handle) (uint32, error) {
	var pid uint32
	if r, _, err := procGetNamedPipeServerProcessID.Call(uintptr(h), uintptr(unsafe.Pointer(&pid))); r == 0 {
		return 0, err
	}
	return pid, nil
}

// servicePID is the process id of a service, from the Service Control Manager (0 when it is not running).
func servicePID(name string) (uint32, error) {
	scm, err := windows.OpenSCManager(nil, nil, windows.SC_MANAGER_CONNECT)
	if err != nil {
		return 0, err
	}
	defer windows.CloseServiceHandle(scm)
	svc, err := windows.OpenService(scm, windows.StringToUTF16Ptr(name), windows.SERVICE_QUERY_STATUS)
	if err != nil {
		return 0, err
	}
	defer windows.CloseServiceHandle(svc)
	var st windows.SERVICE_STATUS_PROCESS
	var need uint32
	err = windows.QueryServiceStatusEx(svc, windows.SC_STATUS_PROCESS_INFO, (*byte)(unsafe.Pointer(&st)),
		uint32(unsafe.Sizeof(st)), &need)
	if err != nil {
		return 0, err
	}
	return st.ProcessId, nil
}

func isServiceAccount(sid string) bool {
	return sid == "S-1-5-18" || sid == "S-1-5-19" || sid == "S-1-5-20" || strings.HasPrefix(sid, "S-1-5-80-")
}

// processAccount is the user SID of a process, from its token.
func processAccount(pid uint32) (string, error) {
	p, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, pid)
	if err != nil {
		return "", err
	}
	defer windows.CloseHandle(p)
	var token windows.Token
	if err := windows.OpenProcessToken(p, windows.TOKEN_QUERY, &token); err != nil {
		return "", err
	}
	defer token.Close()
	user, err := token.GetTokenUser()
	if err != nil {
		return "", err
	}
	return user.User.Sid.String(), nil
}

// verifyServer returns an error unless the pipe is served by the expected server (see the top of this file).
func verifyServer(h windows.Handle, service string) error {
	pid, err := serverPID(h)
	if err != nil {
		return fmt.Errorf("GetNamedPipeServerProcessId: %v", err)
	}
	if service != "" {
		want, err := servicePID(service)
		if err != nil {
			return fmt.Errorf("service %s: %v", service, err)
		}
		if want == 0 {
			return fmt.Errorf("service %s is not running: nothing was sent", service)
		}
		if pid != want {
			return fmt.Errorf("the pipe is served by process %d, not by service %s (pid %d): nothing was sent",
				pid, service, want)
		}
		return nil
	}
	if account, err := processAccount(pid); err == nil {
		if !isServiceAccount(account) {
			return fmt.Errorf("the pipe's server (process %d) runs as %s, not as a service account: nothing was sent",
				pid, account)
		}
		return nil
	}
	// The token of a service's process may not be readable by an ordinary user: the pipe's owner instead.
	sd, err := windows.GetSecurityInfo(h, windows.SE_KERNEL_OBJECT, windows.OWNER_SECURITY_INFORMATION)
	if err != nil {
		return fmt.Errorf("the pipe's server cannot be verified: %v", err)
	}
	owner, _, err := sd.Owner()
	if err != nil {
		return fmt.Errorf("the pipe's owner cannot be read: %v", err)
	}
	if o := owner.String(); !isServiceAccount(o) && o != "S-1-5-32-544" {
		return fmt.Errorf("the pipe is owned by %s, not by a service account: nothing was sent", o)
	}
	return nil
}

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
	service, verify := "", true
	if len(args) >= 2 && args[0] == "--service" {
		service, args = args[1], args[2:]
	} else if len(args) >= 1 && args[0] == "--any-server" {
		verify, args = false, args[1:]
	}
	if len(args) < 1 || strings.HasPrefix(args[0], "--") {
		fmt.Fprintln(os.Stderr, "usage: go run . [--service NAME | --any-server] PIPE_NAME [VERB [PAYLOAD...]]")
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
	if verify {
		// go-winio's pipe connection is a Win32 handle underneath; Fd gives it.
		f, ok := conn.(interface{ Fd() uintptr })
		if !ok {
			fmt.Fprintf(os.Stderr, "%s: this go-winio gives no handle to verify the server with\n", path)
			return 1
		}
		if err := verifyServer(windows.Handle(f.Fd()), service); err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", path, err)
			return 1
		}
	}
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
