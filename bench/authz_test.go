package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"

	"github.com/herd-project/herd/acl"
	"github.com/herd-project/herd/controller"
	"github.com/herd-project/herd/controller/controllertest"
)

// The access model, the same for all three: users hold read, write or
// admin on models (a level implies the lower ones). Each size has nUsers
// users and nModels models with 100 grants each; "probe" (user-00000)
// holds write on model 0 and nothing on model 1.
type size struct {
	name           string
	nUsers, nModel int
}

var sizes = []size{{"10kGrants", 1_000, 100}, {"100kGrants", 10_000, 1_000}}

const perModel = 100

// grantsOf calls fn for every grant of a size.
func grantsOf(sz size, fn func(user, model string, l acl.Level)) {
	for m := range sz.nModel {
		model := fmt.Sprintf("admin/model-%04d", m)
		for g := range perModel {
			u := fmt.Sprintf("user-%05d", (m*perModel+g)%sz.nUsers)
			if u == "user-00000" {
				continue
			}
			fn(u, model, acl.Level(1+g%3))
		}
	}
	fn("user-00000", "admin/model-0000", acl.Write)
}

var cases = []struct {
	name, model string
	want        acl.Level
	allowed     bool
}{
	{"allowed", "admin/model-0000", acl.Read, true},
	{"denied", "admin/model-0001", acl.Read, false},
}

// --- plain map -------------------------------------------------------

type mapKey struct{ user, model string }

func BenchmarkCheck(b *testing.B) {
	for _, sz := range sizes {
		m := map[mapKey]acl.Level{}
		grantsOf(sz, func(u, model string, l acl.Level) { m[mapKey{u, model}] = l })
		h := herdWorld(b, sz)
		e, ce := casbinWorld(b, sz)
		for _, c := range cases {
			b.Run(sz.name+"/"+c.name+"/map", func(b *testing.B) {
				check := func() bool { l := m[mapKey{"user-00000", c.model}]; return l != acl.None && l.Implies(c.want) }
				if check() != c.allowed {
					b.Fatal("map disagrees")
				}
				b.ReportAllocs()
				for b.Loop() {
					check()
				}
			})
			b.Run(sz.name+"/"+c.name+"/herd", func(b *testing.B) {
				if (h.Authorize(c.model, c.want) == nil) != c.allowed {
					b.Fatal("herd disagrees")
				}
				b.ReportAllocs()
				for b.Loop() {
					_ = h.Authorize(c.model, c.want)
				}
			})
			for _, enf := range []struct {
				name string
				e    casbin.IEnforcer
			}{{"casbin", e}, {"casbin-cached", ce}} {
				b.Run(sz.name+"/"+c.name+"/"+enf.name, func(b *testing.B) {
					ok, err := enf.e.Enforce("user-00000", c.model, c.want.String())
					if err != nil || ok != c.allowed {
						b.Fatalf("casbin: %v, %v", ok, err)
					}
					b.ReportAllocs()
					for b.Loop() {
						_, _ = enf.e.Enforce("user-00000", c.model, c.want.String())
					}
				})
			}
		}
	}
}

// BenchmarkCheckMixed cycles through 1,024 (user, model) pairs in a fixed
// random order, half of them granted, so that lookups miss the CPU caches
// as a busy controller's do; each Herd check is by that user's own session.
func BenchmarkCheckMixed(b *testing.B) {
	for _, sz := range sizes {
		type probe struct {
			user, model string
			s           *controller.Session
		}
		var granted, other []probe
		var users []string
		m := map[mapKey]acl.Level{}
		grantsOf(sz, func(u, model string, l acl.Level) {
			m[mapKey{u, model}] = l
			if len(granted) < 512 && (len(m)*7919)%97 == 0 {
				granted = append(granted, probe{user: u, model: model})
				users = append(users, u)
			}
		})
		rng := rand.New(rand.NewPCG(1, 2))
		for len(other) < 512 {
			p := granted[rng.IntN(len(granted))]
			model := fmt.Sprintf("admin/model-%04d", rng.IntN(sz.nModel))
			if _, ok := m[mapKey{p.user, model}]; !ok {
				other = append(other, probe{user: p.user, model: model})
			}
		}
		probes := append(granted, other...)
		rng.Shuffle(len(probes), func(i, j int) { probes[i], probes[j] = probes[j], probes[i] })
		sessions := herdSessions(b, sz, users)
		for i := range probes {
			probes[i].s = sessions[probes[i].user]
		}
		b.Run(sz.name+"/map", func(b *testing.B) {
			i := 0
			for b.Loop() {
				p := probes[i%len(probes)]
				l := m[mapKey{p.user, p.model}]
				_ = l != acl.None && l.Implies(acl.Read)
				i++
			}
		})
		b.Run(sz.name+"/herd", func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				p := probes[i%len(probes)]
				_ = p.s.Authorize(p.model, acl.Read)
				i++
			}
		})
	}
}

// herdSessions logs the given users in to the size's Herd world.
func herdSessions(b *testing.B, sz size, names []string) map[string]*controller.Session {
	herdWorld(b, sz)
	ctx := context.Background()
	out := map[string]*controller.Session{}
	herdMu.Lock()
	ctrl := herdCtrls[sz.name]
	herdMu.Unlock()
	for _, n := range names {
		if _, ok := out[n]; ok {
			continue
		}
		s, err := herdLogin(ctx, ctrl, n)
		if err != nil {
			b.Fatal(err)
		}
		out[n] = s
	}
	return out
}

// --- Herd --------------------------------------------------------------

var (
	herdMu     sync.Mutex
	herdWorlds = map[string]*controller.Session{}
	herdCtrls  = map[string]*controller.Controller{}
)

func herdWorld(b *testing.B, sz size) *controller.Session {
	herdMu.Lock()
	defer herdMu.Unlock()
	if s, ok := herdWorlds[sz.name]; ok {
		return s
	}
	ctx := context.Background()
	bs, err := controller.Bootstrap(ctx, "bench", controller.Options{Hasher: controllertest.TestHasher{}})
	if err != nil {
		b.Fatal(err)
	}
	err = bs.Admin.Batch(ctx, func(bt *controller.Batch) error {
		for i := range sz.nUsers {
			if _, err := bt.AddUser(fmt.Sprintf("user-%05d", i), ""); err != nil {
				return err
			}
		}
		for i := range sz.nUsers {
			if err := bt.SetPassword(fmt.Sprintf("user-%05d", i), "pw"); err != nil {
				return err
			}
		}
		for m := range sz.nModel {
			if _, err := bt.CreateModel(fmt.Sprintf("model-%04d", m), controller.CreateModelOptions{}); err != nil {
				return err
			}
		}
		var gerr error
		grantsOf(sz, func(u, model string, l acl.Level) {
			if gerr == nil {
				gerr = bt.Grant(u, l, model)
			}
		})
		return gerr
	})
	if err != nil {
		b.Fatal(err)
	}
	s, err := bs.Controller.Login(ctx, "user-00000", "pw")
	if err != nil {
		b.Fatal(err)
	}
	herdWorlds[sz.name] = s
	herdCtrls[sz.name] = bs.Controller
	return s
}

func herdLogin(ctx context.Context, c *controller.Controller, name string) (*controller.Session, error) {
	return c.Login(ctx, name, "pw")
}

// --- Casbin ------------------------------------------------------------

// RBAC with domains (a model is a domain) and a role hierarchy
// admin > write > read within each domain.
const casbinModel = `
[request_definition]
r = sub, dom, act

[policy_definition]
p = sub, dom, act

[role_definition]
g = _, _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = g(r.sub, p.sub, r.dom) && r.dom == p.dom && r.act == p.act
`

var (
	casbinMu     sync.Mutex
	casbinWorlds = map[string][2]casbin.IEnforcer{}
)

func casbinWorld(b *testing.B, sz size) (casbin.IEnforcer, casbin.IEnforcer) {
	casbinMu.Lock()
	defer casbinMu.Unlock()
	if w, ok := casbinWorlds[sz.name]; ok {
		return w[0], w[1]
	}
	var policies, groupings [][]string
	for m := range sz.nModel {
		dom := fmt.Sprintf("admin/model-%04d", m)
		for _, l := range []string{"read", "write", "admin"} {
			policies = append(policies, []string{"role:" + l, dom, l})
		}
		groupings = append(groupings, []string{"role:admin", "role:write", dom}, []string{"role:write", "role:read", dom})
	}
	grantsOf(sz, func(u, model string, l acl.Level) {
		groupings = append(groupings, []string{u, "role:" + l.String(), model})
	})
	var out [2]casbin.IEnforcer
	for i := range out {
		m, err := model.NewModelFromString(casbinModel)
		if err != nil {
			b.Fatal(err)
		}
		var e casbin.IEnforcer
		if i == 0 {
			e, err = casbin.NewEnforcer(m)
		} else {
			e, err = casbin.NewCachedEnforcer(m)
		}
		if err != nil {
			b.Fatal(err)
		}
		if _, err := e.AddPolicies(policies); err != nil {
			b.Fatal(err)
		}
		if _, err := e.AddGroupingPolicies(groupings); err != nil {
			b.Fatal(err)
		}
		out[i] = e
	}
	casbinWorlds[sz.name] = out
	return out[0], out[1]
}
