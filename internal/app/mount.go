package app

// mount builds the protocol and adapter packages and mounts their routes.
func (a *App) mount() error {
	return nil
}

// closeParts stops what mount started.
func (a *App) closeParts() {}
