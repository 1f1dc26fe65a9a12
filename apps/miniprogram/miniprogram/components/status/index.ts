/**
 * The one loading / empty / error block of every page: a spinner with 加载中…, an empty message (with an
 * optional action, "去逛逛"), or an error with a retry button. It renders nothing for any other state, so a page
 * can pass its own state through. Events: `retry` (error button) and `action` (empty button).
 */
Component({
  options: {
    // The spinner and colours come from app.wxss.
    addGlobalClass: true,
  },
  properties: {
    /** 'loading' | 'empty' | 'error'; anything else shows nothing. */
    state: { type: String, value: '' },
    /** The error text (error) or the empty message (empty). */
    message: { type: String, value: '' },
    /** The empty state's button; none when ''. */
    actionText: { type: String, value: '' },
    retryText: { type: String, value: '重试' },
  },
  methods: {
    onRetry() {
      this.triggerEvent('retry');
    },
    onAction() {
      this.triggerEvent('action');
    },
  },
});
