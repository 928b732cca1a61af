// Package providertest runs in-process fakes of the hosted speech and language
// APIs Parley speaks to, for end-to-end tests and benchmarks that must not
// reach the network: Deepgram live transcription (/v1/listen WebSocket), OpenAI
// chat completions (server-sent events), OpenAI speech (/v1/audio/speech) and
// ElevenLabs stream-input text to speech (WebSocket).
//
// Each fake listens on a loopback port and follows the provider's documented
// wire format, including what the real API refuses: a missing or wrong key,
// a wrong path, missing or invalid parameters. A test that passes against a
// fake therefore shows that Parley speaks the format, not merely that the fake
// is lenient. The fakes are scripted rather than intelligent: the Deepgram
// fake answers each utterance it detects (by audio energy) with the next line
// of its script, the chat fake answers each request with the next scripted
// reply (or a function of the request), and the speech fakes return a tone
// whose length is proportional to the text.
//
// Every fake records what it received (handshakes, audio, requests) for the
// test to check, and Close stops every goroutine it started.
package providertest
