package fakeprovider

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/provider"
)

// fileState is what Open keeps in its file.
type fileState struct {
	Version   int                           `json:"version"`
	Models    map[string]provider.ModelSpec `json:"models"`
	Instances map[string]provider.Instance  `json:"instances"`
}

// Open returns a fake provider whose machines and model spaces are kept
// in a JSON file at path (created, mode 0600, if missing), so that
// separate processes, such as a command-line tool's commands, see the
// same fake cloud. Every change is written to the file before the call
// returns. It does not lock the file: processes must take turns (Herd's
// example CLI holds the controller's store lock while it works). A file
// that is not a fake provider's state is herd.ErrInvalid.
func Open(path string) (*Provider, error) {
	p := New()
	p.path = path
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return p, p.save()
	}
	if err != nil {
		return nil, herd.Wrap(herd.ErrFailedPrecondition, err, "cannot read fake provider state "+path)
	}
	if err := p.load(b); err != nil {
		return nil, err
	}
	return p, nil
}

// OpenShared is Open for several processes using the fake cloud at once,
// such as several controller processes of one controller in high
// availability: every call takes an exclusive lock (flock, on path +
// ".lock"), loads the file, and saves its change before it lets the lock
// go, so each process sees the others' machines and model spaces. Unix
// only; elsewhere it fails with herd.ErrFailedPrecondition.
func OpenShared(path string) (*Provider, error) {
	p := New()
	p.path, p.shared = path, true
	p.mu.Lock()
	defer p.unlock()
	if err := p.lockShared(); err != nil {
		return nil, err
	}
	return p, nil
}

// lockShared, for OpenShared, takes the file's lock and loads the file
// (creating it if missing). Called with p.mu held; unlockShared undoes it.
func (p *Provider) lockShared() error {
	if !p.shared || p.lockf != nil {
		return nil
	}
	f, err := os.OpenFile(p.path+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return herd.Wrap(herd.ErrFailedPrecondition, err, "cannot lock fake provider state")
	}
	if err := flock(f); err != nil {
		f.Close()
		return herd.Wrap(herd.ErrFailedPrecondition, err, "cannot lock fake provider state")
	}
	p.lockf = f
	b, err := os.ReadFile(p.path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		clear(p.models)
		clear(p.instances)
		err = p.save()
	case err != nil:
		err = herd.Wrap(herd.ErrFailedPrecondition, err, "cannot read fake provider state "+p.path)
	default:
		err = p.load(b)
	}
	if err != nil {
		p.unlockShared()
	}
	return err
}

func (p *Provider) unlockShared() {
	if p.lockf != nil {
		funlock(p.lockf)
		p.lockf.Close()
		p.lockf = nil
	}
}

// load replaces the machines and model spaces with the file's b.
func (p *Provider) load(b []byte) error {
	path := p.path
	var st fileState
	if err := json.Unmarshal(b, &st); err != nil {
		return herd.Wrap(herd.ErrInvalid, err, "fake provider state "+path+" is not valid")
	}
	if st.Version != 1 {
		return herd.Errorf(herd.ErrInvalid, "fake provider state %s has version %d, want 1", path, st.Version)
	}
	models := map[string]provider.ModelSpec{}
	instances := map[string]provider.Instance{}
	for k, m := range st.Models {
		if k == "" || m.ModelUUID != k {
			return herd.Errorf(herd.ErrInvalid, "fake provider state %s: model %q is not valid", path, k)
		}
		models[k] = m
	}
	for k, inst := range st.Instances {
		if k != key(inst.ModelUUID, inst.ID) {
			return herd.Errorf(herd.ErrInvalid, "fake provider state %s: instance %q is not valid", path, k)
		}
		instances[k] = inst
	}
	p.models, p.instances = models, instances
	return nil
}

// save writes the state atomically; it is called with p.mu held.
func (p *Provider) save() error {
	if p.path == "" {
		return nil
	}
	b, err := json.MarshalIndent(fileState{Version: 1, Models: p.models, Instances: p.instances}, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(p.path), ".fakeprovider-*")
	if err != nil {
		return herd.Wrap(herd.ErrFailedPrecondition, err, "cannot save fake provider state")
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o600)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), p.path)
	}
	if err != nil {
		return herd.Wrap(herd.ErrFailedPrecondition, err, "cannot save fake provider state")
	}
	return nil
}
