package acl

import "github.com/herd-project/herd"

// Invariants Herd keeps beyond Juju. They are pure functions of counts the
// controller reads in the same transaction as the change, so that a change
// that would break one is refused and changes nothing.

// CheckSuperusers refuses a change that takes away an enabled superuser when
// it is the last one. wasEnabledSuperuser says whether the user is an
// enabled superuser now, staysEnabledSuperuser whether they will be after
// the change, and enabledSuperusers counts them now, the user included.
func CheckSuperusers(wasEnabledSuperuser, staysEnabledSuperuser bool, enabledSuperusers int) error {
	if wasEnabledSuperuser && !staysEnabledSuperuser && enabledSuperusers <= 1 {
		return herd.Errorf(herd.ErrFailedPrecondition, "cannot remove the last enabled superuser of the controller")
	}
	return nil
}

// CheckModelAdmins refuses a change that takes away a model admin grant
// when it is the last one on the model. before and after are the user's
// direct levels on the model; admins counts the model's admin grants now.
func CheckModelAdmins(model string, before, after Level, admins int) error {
	if before == Admin && after != Admin && admins <= 1 {
		return herd.Errorf(herd.ErrFailedPrecondition, "cannot leave model %q without an admin", model)
	}
	return nil
}

// UserChange names what is done to a user, for CheckOwner.
type UserChange uint8

// The changes CheckOwner refuses for the controller owner.
const (
	Disabling UserChange = iota + 1
	Removing
	RevokingLogin
)

// CheckOwner refuses to disable or remove the controller owner (the
// bootstrap admin). Its superuser access may be revoked while another
// enabled superuser remains, as the spec leaves that open.
func CheckOwner(isOwner bool, name string, change UserChange) error {
	if !isOwner {
		return nil
	}
	switch change {
	case Disabling:
		return herd.Errorf(herd.ErrFailedPrecondition, "cannot disable controller owner")
	case Removing:
		return herd.Errorf(herd.ErrFailedPrecondition, "cannot delete controller owner %q", name)
	case RevokingLogin:
		return herd.Errorf(herd.ErrFailedPrecondition, "cannot revoke login from controller owner %q", name)
	}
	return nil
}
