import { Navigate, Route, Routes } from 'react-router';
import { Layout, RequireAuth } from './components/Layout';
import { LoginPage } from './pages/LoginPage';
import { NetworksPage } from './pages/NetworksPage';
import { NewNetworkPage } from './pages/NewNetworkPage';
import { NetworkPage } from './pages/NetworkPage';
import { OAuthCallbackPage } from './pages/OAuthCallbackPage';
import { NotFoundPage } from './pages/NotFoundPage';
import { ApplicationsPage } from './pages/ApplicationsPage';
import { ApplicationPage } from './pages/ApplicationPage';
import { DevicePage } from './pages/DevicePage';

export function App() {
  return (
    <Routes>
      <Route element={<Layout />}>
        <Route path="/login" element={<LoginPage />} />
        <Route element={<RequireAuth />}>
          <Route index element={<Navigate to="/networks" replace />} />
          <Route path="/networks" element={<NetworksPage />} />
          <Route path="/networks/new" element={<NewNetworkPage />} />
          <Route path="/networks/:id" element={<NetworkPage />} />
          <Route path="/oauth/callback" element={<OAuthCallbackPage />} />
          <Route path="/applications" element={<ApplicationsPage />} />
          <Route path="/applications/:id" element={<ApplicationPage />} />
          <Route path="/applications/:id/devices/new" element={<DevicePage />} />
          <Route path="/applications/:id/devices/:deviceId" element={<DevicePage />} />
        </Route>
        <Route path="*" element={<NotFoundPage />} />
      </Route>
    </Routes>
  );
}
