// The app holds no state of its own: sessions live in the auth service (token in storage) and every page
// asks the server for what it shows.
App({});
