package rpc

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// BenchmarkCallRoundTrip is one small call (Test.Echo, a few bytes of
// params) on one TLS loopback websocket connection, through Client and
// Conn: what the RPC layer costs over BenchmarkEchoRoundTrip.
func BenchmarkCallRoundTrip(b *testing.B) {
	ts := startServer(b, newTestHandler(), Options{})
	c := ts.dial(b)
	ctx := testCtx(b)
	in := map[string]string{"tag": "user-admin"}
	var out map[string]string
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Call(ctx, "Test", 1, "", "Echo", in, &out); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEchoRoundTrip is the same exchange with no RPC layer: a bare
// websocket echo of a frame of the same size over the same kind of
// connection.
func BenchmarkEchoRoundTrip(b *testing.B) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := Upgrade(w, r)
		if err != nil {
			return
		}
		defer ws.Close()
		for {
			mt, data, err := ws.ReadMessage()
			if err != nil {
				return
			}
			if err := ws.WriteMessage(mt, data); err != nil {
				return
			}
		}
	}))
	b.Cleanup(srv.Close)
	d := websocket.Dialer{TLSClientConfig: srv.Client().Transport.(*http.Transport).TLSClientConfig, HandshakeTimeout: 5 * time.Second}
	ws, _, err := d.Dial("wss"+strings.TrimPrefix(srv.URL, "https"), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ws.Close() })
	msg := []byte(`{"request-id":1,"type":"Test","version":1,"request":"Echo","params":{"tag":"user-admin"}}`)
	b.ReportAllocs()
	for b.Loop() {
		if err := ws.WriteMessage(websocket.TextMessage, msg); err != nil {
			b.Fatal(err)
		}
		if _, _, err := ws.ReadMessage(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeReply decodes a reply of UserInfo's size: the frame,
// then its response into the result, as Client does.
func BenchmarkDecodeReply(b *testing.B) {
	data := []byte(`{"request-id":12,"response":{"results":[{"result":{"username":"admin","display-name":"admin","access":"superuser","created-by":"admin","date-created":"2026-11-29T07:05:06Z","last-connection":"2026-11-29T07:05:06Z","disabled":false}}]}}`)
	var out map[string]any
	b.ReportAllocs()
	for b.Loop() {
		f, _, ok, err := decodeFrame(data)
		if !ok || err != nil {
			b.Fatal(ok, err)
		}
		if err := json.Unmarshal(f.Response, &out); err != nil {
			b.Fatal(err)
		}
	}
}
