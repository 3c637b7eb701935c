package ws

// fakeExt is a configurable Extension for tests.
type fakeExt struct {
	name   string
	params []Param
	rsv    byte
	encode func(f *Frame) error
	decode func(f *Frame, limit int64) error
	closed int
	log    *[]string // records "name:decode" and "name:encode" calls
}

func (e *fakeExt) Name() string    { return e.name }
func (e *fakeExt) Params() []Param { return e.params }
func (e *fakeExt) RsvBits() byte   { return e.rsv }
func (e *fakeExt) Close()          { e.closed++ }

func (e *fakeExt) Encode(f *Frame) error {
	if e.log != nil {
		*e.log = append(*e.log, e.name+":encode")
	}
	if e.encode != nil {
		return e.encode(f)
	}
	return nil
}

func (e *fakeExt) Decode(f *Frame, limit int64) error {
	if e.log != nil {
		*e.log = append(*e.log, e.name+":decode")
	}
	if e.decode != nil {
		return e.decode(f, limit)
	}
	return nil
}

// fakeClientFactory is a ClientExtensionFactory for tests.
type fakeClientFactory struct {
	name   string
	offer  []Param
	accept func(params []Param, accepted []Extension) (Extension, error)
}

func (f *fakeClientFactory) Name() string   { return f.name }
func (f *fakeClientFactory) Offer() []Param { return f.offer }
func (f *fakeClientFactory) Accept(params []Param, accepted []Extension) (Extension, error) {
	if f.accept != nil {
		return f.accept(params, accepted)
	}
	return &fakeExt{name: f.name, params: params}, nil
}

// fakeServerFactory is a ServerExtensionFactory for tests.
type fakeServerFactory struct {
	name      string
	negotiate func(params []Param, accepted []Extension) ([]Param, Extension, error)
	calls     [][]Param
}

func (f *fakeServerFactory) Name() string { return f.name }
func (f *fakeServerFactory) Negotiate(params []Param, accepted []Extension) ([]Param, Extension, error) {
	f.calls = append(f.calls, params)
	if f.negotiate != nil {
		return f.negotiate(params, accepted)
	}
	return params, &fakeExt{name: f.name, params: params}, nil
}
