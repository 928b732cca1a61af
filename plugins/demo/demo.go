// Package demo registers the Go tools that the shipped demo agent
// (configs/demo.yaml) calls, and shows how a custom tool is written: a typed Go
// function whose argument struct becomes the tool's JSON Schema.
package demo

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/parley-voice/parley/plugins"
)

// BookingArgs are the arguments of book_appointment.
type BookingArgs struct {
	Day  string `json:"day" jsonschema:"enum=monday,enum=tuesday,enum=wednesday,enum=thursday,enum=friday,description=Weekday of the appointment"`
	Time string `json:"time" jsonschema:"description=Time of day in words such as ten a m"`
	Name string `json:"name,omitempty" jsonschema:"description=Patient name if known"`
}

// Booking is book_appointment's result.
type Booking struct {
	Confirmation string `json:"confirmation"`
	Day          string `json:"day"`
	Time         string `json:"time"`
}

// chairs is how many patients the demo clinic can see at the same time.
const chairs = 1000

// Book is an in-memory appointment book: each slot has a number of chairs.
type Book struct {
	mu    sync.Mutex
	taken map[string]int
	next  int
}

// NewBook returns an empty appointment book.
func NewBook() *Book { return &Book{taken: map[string]int{}} }

// Book takes a slot or explains why it cannot.
func (b *Book) Book(ctx context.Context, a BookingArgs) (any, error) {
	day, tm := strings.ToLower(strings.TrimSpace(a.Day)), strings.ToLower(strings.TrimSpace(a.Time))
	if tm == "" {
		return nil, fmt.Errorf("time is required")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	key := day + " " + tm
	if b.taken[key] >= chairs {
		return map[string]string{"error": "that time is fully booked"}, nil
	}
	b.taken[key]++
	b.next++
	return Booking{Confirmation: fmt.Sprintf("PD-%04d", b.next), Day: day, Time: tm}, nil
}

func init() {
	book := NewBook()
	t := plugins.MustFunc("book_appointment", "Book a dental appointment on a weekday at a given time.", book.Book)
	if err := plugins.RegisterTool(t); err != nil {
		panic(err)
	}
	o := plugins.MustFunc("lookup_order", "Look up the status of an order by its number.", LookupOrder)
	if err := plugins.RegisterTool(o); err != nil {
		panic(err)
	}
}

// OrderArgs are the arguments of lookup_order.
type OrderArgs struct {
	OrderNumber string `json:"order_number" jsonschema:"description=The order number as digits"`
}

// LookupOrder answers from a small in-memory order table, standing in for a
// shop's order API in the shipped support-flow agent.
func LookupOrder(ctx context.Context, a OrderArgs) (any, error) {
	statuses := []string{"being packed", "on its way", "delivered", "waiting for payment"}
	n := strings.TrimSpace(a.OrderNumber)
	if n == "" {
		return nil, fmt.Errorf("order_number is required")
	}
	sum := 0
	for _, r := range n {
		if r < '0' || r > '9' {
			return map[string]string{"error": "order numbers are digits only"}, nil
		}
		sum += int(r - '0')
	}
	return map[string]string{"order_number": n, "status": statuses[sum%len(statuses)]}, nil
}
